# Helpers for the example's backend programs. The agent writes one JSON
# object on standard input; these read a field from it without jq, which is
# enough for the flat values used here (a real backend would use jq or a
# proper language).

request=$(cat)

# field NAME: the first string value of "NAME" in the request.
field() {
	printf '%s' "$request" | grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d '"' -f 4
}

# number NAME: the first numeric value of "NAME" in the request (the
# order's limits come before the resource's).
number() {
	printf '%s' "$request" | grep -o "\"$1\":[0-9.]*" | head -n 1 | cut -d : -f 2
}

# The volumes live as files in VOLUMES_DIR (set in agent.yaml).
state=${VOLUMES_DIR:?VOLUMES_DIR is not set}
mkdir -p "$state"
