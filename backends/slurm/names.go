package slurm

import (
	"fmt"
	"regexp"
	"strings"
)

// Slurm's association names are passed as arguments, never through a
// shell, but sacctmgr parses them itself: a space, comma, quote, '=' or
// '|' would split a name, add a condition or break parsable output. So
// every name is checked against what Slurm handles as one word.
var (
	// accountName: Slurm stores account names in lower case.
	accountName = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.-]{0,63}$`)
	userName    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$`)
	qosName     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	tresName    = regexp.MustCompile(`^[a-z]+(/[a-z0-9_:.-]+)?$`)
	clusterName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
)

func checkName(kind string, re *regexp.Regexp, name string) error {
	if !re.MatchString(name) {
		return fmt.Errorf("slurm: %q is not a valid %s name", name, kind)
	}
	return nil
}

// CheckAccount reports whether name can be a Slurm account: lower-case
// letters, digits, '_', '.' and '-', at most 64 characters.
func CheckAccount(name string) error { return checkName("account", accountName, name) }

// CheckUser reports whether name can be a Slurm user: letters, digits,
// '_', '.', '@' and '-', at most 64 characters.
func CheckUser(name string) error { return checkName("user", userName, name) }

// CheckQoS reports whether name can be a QoS: letters, digits, '_' and '-'.
func CheckQoS(name string) error { return checkName("QoS", qosName, name) }

// AccountName makes an account name from prefix and a Waldur slug: lower
// case, characters Slurm would not take as part of a name turned into
// '_', cut to 64 characters. It returns "" when nothing is left.
func AccountName(prefix, slug string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(prefix + slug) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	if s != "" && (s[0] == '-' || s[0] == '.') {
		s = "_" + s[1:]
	}
	return s
}

// text makes free text (a description) safe as one sacctmgr value.
func text(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < ' ', r == '"', r == '\'', r == '|', r == '=', r == ',':
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
