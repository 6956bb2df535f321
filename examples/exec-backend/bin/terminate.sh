#!/bin/sh
# Removes the volume of a Terminate order; a missing volume is fine, so a
# retry is harmless.
set -eu
. "$(dirname "$0")/lib.sh"

id=$(field backend_id)
rm -f "$state/$id"
