#!/bin/sh
# Creates a storage volume for a Create order. Idempotent: the volume's id
# derives from the Waldur resource, so a retried order finds its volume.
set -eu
. "$(dirname "$0")/lib.sh"

resource=$(field resource_uuid)
size=$(number storage)
size=${size:-0}
id="vol-$(printf '%s' "$resource" | cut -c1-8)"

if [ "$size" -gt 10000 ]; then
	echo "$size GB is more than one volume holds" >&2
	exit 1 # permanent: the order is marked erred with this message
fi
if ! printf '%s\n' "$size" > "$state/$id"; then
	echo "cannot write $state/$id" >&2
	exit 75 # transient: the agent tries again later
fi
printf '{"backend_id": "%s", "endpoints": [{"name": "NFS export", "url": "nfs://filer.example.org/%s"}]}\n' "$id" "$id"
