#!/bin/sh
# Gives coturn the certificate Caddy obtained for NAME: copied where the turnserver user may
# read it (Caddy's own files are its alone), then coturn reloads it (SIGUSR2) without dropping
# anyone. Run by turn-cert.path whenever Caddy renews, and once by hand after the first start.
set -eu
NAME="${1:-live.example.com}"
store=/var/lib/caddy/.local/share/caddy/certificates
# Caddy keeps each issuer's certificates apart (Let's Encrypt, or ZeroSSL as its fallback).
cert=$(ls -t "$store"/*/"$NAME/$NAME.crt" 2>/dev/null | head -n 1)
if [ -z "$cert" ]; then
  echo "no certificate for $NAME under $store yet: is Caddy serving it?" >&2
  exit 1
fi
install -d -m 0750 -o root -g turnserver /etc/coturn/certs
install -m 0644 -o root -g turnserver "$cert" /etc/coturn/certs/fullchain.pem
install -m 0640 -o root -g turnserver "${cert%.crt}.key" /etc/coturn/certs/privkey.pem
systemctl kill --signal=SIGUSR2 coturn.service 2>/dev/null || true
