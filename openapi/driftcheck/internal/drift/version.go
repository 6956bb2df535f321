package drift

import "strings"

// newerThan reports whether version since is newer than version server. Versions
// compare numerically component by component ("8.1" > "8.0.5", "8.1" <= "8.1.2");
// missing components count as zero and a component's non-digit suffix is ignored.
// An empty since is never newer.
func newerThan(since, server string) bool {
	if since == "" {
		return false
	}
	a, b := versionParts(since), versionParts(server)
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x > y
		}
	}
	return false
}

func versionParts(v string) []int {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	var parts []int
	for _, p := range strings.Split(v, ".") {
		n, digits := 0, 0
		for _, r := range p {
			if r < '0' || r > '9' {
				break
			}
			n = n*10 + int(r-'0')
			digits++
		}
		parts = append(parts, n)
		if digits < len(p) {
			break // "8.1.2-dev": stop at the first non-numeric suffix
		}
	}
	return parts
}
