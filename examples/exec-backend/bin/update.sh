#!/bin/sh
# Resizes the volume of an Update order to its new storage limit.
set -eu
. "$(dirname "$0")/lib.sh"

id=$(field backend_id)
size=$(number storage)
[ -n "$id" ] || { echo "the resource has no volume" >&2; exit 1; }
printf '%s\n' "${size:-0}" > "$state/$id"
