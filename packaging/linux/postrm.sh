#!/bin/sh
# purge also removes the cache and job state (/var/lib/smstorrent) and the configuration.
set -e
if [ "$1" = purge ]; then
  rm -rf /var/lib/smstorrent /etc/smstorrent
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
