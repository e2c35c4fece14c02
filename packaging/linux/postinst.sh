#!/bin/sh
# Starts the service once a configuration exists (/etc/smstorrent/config.json,
# see docs/CONFIG.md); enables it either way.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable smstorrent.service >/dev/null
  if [ -f /etc/smstorrent/config.json ]; then
    systemctl restart smstorrent.service
  fi
fi
