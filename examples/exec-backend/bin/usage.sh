#!/bin/sh
# Reports a volume's size as its storage usage in the billing month.
set -eu
. "$(dirname "$0")/lib.sh"

id=$(field backend_id)
size=0
[ -f "$state/$id" ] && size=$(cat "$state/$id")
printf '{"totals": {"storage": %s}}\n' "$size"
