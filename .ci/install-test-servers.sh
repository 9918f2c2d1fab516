#!/usr/bin/env bash
# Install (as root, from Debian) what the tests need: for the replica tests nginx, fcgiwrap,
# git (with git daemon and git http-backend), OpenSSH's server and client; for the pages,
# chromium (driven by Playwright from PyPI: tests/support/browser.py). Idempotent and quiet: does
# nothing when all are there. Debian's policy-rc.d keeps the packages' services from starting
# where there is no init; the tests start their own servers on 127.0.0.1.
set -euo pipefail
needed=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || needed+=(nginx)
command -v fcgiwrap >/dev/null || [ -x /usr/sbin/fcgiwrap ] || needed+=(fcgiwrap)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || needed+=(openssh-server)
command -v ssh-keygen >/dev/null || needed+=(openssh-client)
[ -x /usr/lib/git-core/git-http-backend ] && [ -x /usr/lib/git-core/git-daemon ] || needed+=(git)
command -v chromium >/dev/null || needed+=(chromium)
if [ ${#needed[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "the tests need ${needed[*]}: install them as root" >&2
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq >/dev/null && \
           apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null; }; then
        echo "warning: could not install ${needed[*]}" >&2
    fi
fi
