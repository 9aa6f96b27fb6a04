// Built with a different ABI number: load_module must refuse it.
#include "module.h"

namespace gannet {
extern "C" Module gannet_module;
Module gannet_module{.abi = kModuleAbi + 1000, .name = "badabi"};
}  // namespace gannet
