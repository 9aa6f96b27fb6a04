"""neomutt, driven in tmux as a person would: it logs in over IMAP, lists
INBOX, opens a message and shows its body, and deletes one; the store
sees what it did."""
import os
import shutil
import subprocess
import time
import unittest

from harness import main, wait_for
from test_imap import ImapBase, MESSAGE

NEOMUTT, TMUX = shutil.which("neomutt"), shutil.which("tmux")


@unittest.skipUnless(NEOMUTT and TMUX, "neomutt or tmux is not installed (apt-get install neomutt tmux)")
class NeomuttTest(ImapBase):

    def setUp(self):
        super().setUp()
        self.session_name = "gannet-neomutt-%d" % os.getpid()
        self.rc = os.path.join(self.g.dir, "muttrc")
        with open(self.rc, "w") as f:
            f.write(f"""set folder = "imap://alice@example.test@127.0.0.1:{self.imap_plain}/"
set spoolfile = "+INBOX"
set imap_user = "alice@example.test"
set imap_pass = "alice-pw"
set ssl_starttls = no
set ssl_force_tls = no
set imap_check_subscribed = no
set mail_check = 1
set timeout = 1
set header_cache = ""
set message_cachedir = ""
set sort = date
set confirmappend = no
set delete = yes
set quit = yes
set wait_key = no
set pager_stop = yes
""")

    def tearDown(self):
        subprocess.run([TMUX, "kill-session", "-t", self.session_name], capture_output=True)
        super().tearDown()

    def screen(self):
        return subprocess.run([TMUX, "capture-pane", "-p", "-t", self.session_name], capture_output=True,
                              text=True).stdout

    def keys(self, *keys):
        subprocess.run([TMUX, "send-keys", "-t", self.session_name, *keys], check=True)

    def test_neomutt_lists_reads_and_deletes(self):
        self.deliver(MESSAGE.replace(b"Subject: hello", b"Subject: first from bob"))
        self.deliver(MESSAGE.replace(b"Subject: hello", b"Subject: second from bob")
                     .replace(b"First line.", b"The second body."))
        env = {**os.environ, "HOME": self.g.dir, "TERM": "xterm"}
        subprocess.run([TMUX, "new-session", "-d", "-s", self.session_name, "-x", "120", "-y", "30",
                        f"{NEOMUTT} -n -F {self.rc}"], check=True, env=env)
        wait_for(lambda: "second from bob" in self.screen() and "first from bob" in self.screen(), timeout=20,
                 what="neomutt's index of INBOX")
        # Open the second message (sorted by date: the last line), read its body.
        self.keys("End", "Enter")
        wait_for(lambda: "The second body." in self.screen(), timeout=20, what="the message's body in the pager")
        self.keys("q")
        wait_for(lambda: "second from bob" in self.screen() and "The second body." not in self.screen(),
                 timeout=20, what="back in the index")
        # Delete it and sync the mailbox ($): the store loses it.
        self.keys("d", "$")
        wait_for(lambda: len(self.inbox("alice")) == 1, timeout=20, what="the deletion reaching the store")
        self.assertIn(b"first from bob", self.inbox("alice")[0])
        self.keys("q")


if __name__ == "__main__":
    main()
