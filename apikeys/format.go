package apikeys

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"regexp"
)

// Key grammar (ABNF, case-sensitive):
//
//	key      = prefix "_" id "_" secret checksum
//	prefix   = lower *15( lower / digit / "_" )   ; no "__", no trailing "_"
//	id       = 12base62                            ; public, random
//	secret   = 22base62                            ; 131 bits from crypto/rand
//	checksum = 6base62                             ; CRC-32 (IEEE) of prefix "_" id "_" secret
//	base62   = digit / upper / lower               ; alphabet 0-9A-Za-z, in that order
//
// The checksum is the CRC-32 read as a big-endian base-62 number, left-padded
// with "0". The fixed lengths let a parser split from the right, so prefixes
// may themselves contain underscores (for example "sk_live").
const (
	// DefaultPrefix is the type prefix used when none is configured; keys then
	// start with "wak_".
	DefaultPrefix = "wak"

	// IDLen is the length of a key's public id.
	IDLen = 12
	// SecretLen is the length of a key's secret part (without checksum):
	// 22 base-62 characters carry 22·log2(62) ≈ 131 bits.
	SecretLen = 22
	// ChecksumLen is the length of the encoded CRC-32.
	ChecksumLen = 6
	// MaxPrefixLen bounds the type prefix.
	MaxPrefixLen = 16

	// tailLen is everything after the prefix: "_" id "_" secret checksum.
	tailLen = 1 + IDLen + 1 + SecretLen + ChecksumLen
	// MaxKeyLen is the longest well-formed key.
	MaxKeyLen = MaxPrefixLen + tailLen

	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// Key is a parsed or generated API key. Prefix and ID are public; the secret is
// not exported, and String, GoString and LogValue redact it, so a Key printed
// or logged by accident shows only its display form. Format returns the full
// plaintext, which is meant to be shown to its owner once and then forgotten.
type Key struct {
	// Prefix is the type prefix, without the separating underscore ("wak").
	Prefix string
	// ID is the public id under which the key's record is stored.
	ID     string
	secret string
}

// Format returns the full plaintext key including its checksum. Treat the
// result as a secret: hand it to its owner and never log or store it.
func (k Key) Format() string {
	if k.ID == "" {
		return ""
	}
	body := k.Prefix + "_" + k.ID + "_" + k.secret
	var sum [ChecksumLen]byte
	encodeChecksum(&sum, crc32String(body))
	return body + string(sum[:])
}

// Display returns the public, loggable form "prefix_id", which is also what
// user interfaces show to tell keys apart.
func (k Key) Display() string { return k.Prefix + "_" + k.ID }

// String returns the display form followed by an ellipsis, never the secret.
func (k Key) String() string {
	if k.ID == "" {
		return ""
	}
	return k.Display() + "_…"
}

// GoString redacts the secret for %#v.
func (k Key) GoString() string {
	return fmt.Sprintf("apikeys.Key{Prefix:%q, ID:%q, secret:REDACTED}", k.Prefix, k.ID)
}

// LogValue makes slog record only the display form.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// ErrMalformed reports a string that is not a well-formed key. Every parse
// failure, including ErrChecksum, matches it with errors.Is.
var ErrMalformed = errors.New("apikeys: malformed key")

// ErrChecksum reports a key whose grammar is right but whose checksum does not
// match, typically a typo or a truncated copy. It wraps ErrMalformed.
var ErrChecksum = fmt.Errorf("%w: checksum mismatch", ErrMalformed)

// ErrInvalidPrefix reports a configured type prefix outside the grammar.
var ErrInvalidPrefix = errors.New("apikeys: invalid key prefix")

// malformed builds a parse error that never quotes the input: the input may be
// a real key with one wrong character.
func malformed(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }

// Parse checks the grammar and the checksum of s and returns its parts. It
// accepts any valid prefix; a Manager additionally requires its own. Errors
// match ErrMalformed (and ErrChecksum for a checksum mismatch) and never
// contain s.
func Parse(s string) (Key, error) {
	k, why := parse(s)
	if why != "" {
		return Key{}, malformed(why)
	}
	if !checksumOK(s) {
		return Key{}, ErrChecksum
	}
	return k, nil
}

// parse checks the grammar only and reports the first problem as a short
// reason; it does not allocate.
func parse(s string) (Key, string) {
	n := len(s)
	if n < 1+tailLen || n > MaxKeyLen {
		return Key{}, "wrong length"
	}
	p := n - tailLen
	if s[p] != '_' || s[p+1+IDLen] != '_' {
		return Key{}, "missing separator"
	}
	if !validPrefix(s[:p]) {
		return Key{}, "invalid prefix"
	}
	for i := p + 1; i < n; i++ {
		if i == p+1+IDLen {
			continue
		}
		if !isBase62(s[i]) {
			return Key{}, "character outside base62"
		}
	}
	return Key{
		Prefix: s[:p],
		ID:     s[p+1 : p+1+IDLen],
		secret: s[p+2+IDLen : n-ChecksumLen],
	}, ""
}

func checksumOK(s string) bool {
	n := len(s)
	want, ok := decodeChecksum(s[n-ChecksumLen:])
	return ok && crc32String(s[:n-ChecksumLen]) == want
}

// ValidatePrefix reports whether p can be used as a type prefix: 1 to 16
// characters, a lowercase letter first, then lowercase letters, digits and
// single underscores, not ending in an underscore.
func ValidatePrefix(p string) error {
	if !validPrefix(p) {
		return fmt.Errorf("%w: want 1-%d chars of [a-z0-9_], a letter first, no trailing or double underscore", ErrInvalidPrefix, MaxPrefixLen)
	}
	return nil
}

func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > MaxPrefixLen || p[0] < 'a' || p[0] > 'z' || p[len(p)-1] == '_' {
		return false
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '_' && p[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// ScanPattern returns a regular expression (RE2 syntax, as used by Go,
// GitHub secret scanning and gitleaks) that matches keys with the given
// prefix. With an empty prefix it matches keys of any valid prefix. Matches
// may still fail the checksum; scanners that can run code should call Parse
// to drop false positives.
func ScanPattern(prefix string) string {
	p := `[a-z](?:[a-z0-9]|_[a-z0-9]){0,15}`
	if prefix != "" {
		p = regexp.QuoteMeta(prefix)
	}
	return fmt.Sprintf(`\b%s_[0-9A-Za-z]{%d}_[0-9A-Za-z]{%d}\b`, p, IDLen, SecretLen+ChecksumLen)
}

// Generate returns a new key with the given prefix (DefaultPrefix when empty),
// drawing id and secret from crypto/rand.
func Generate(prefix string) (Key, error) { return generate(rand.Reader, prefix) }

func generate(r io.Reader, prefix string) (Key, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := ValidatePrefix(prefix); err != nil {
		return Key{}, err
	}
	var buf [IDLen + SecretLen]byte
	if err := randomBase62(r, buf[:]); err != nil {
		return Key{}, fmt.Errorf("apikeys: generate key: %w", err)
	}
	s := string(buf[:])
	return Key{Prefix: prefix, ID: s[:IDLen], secret: s[IDLen:]}, nil
}

// randomBase62 fills dst with uniformly random base-62 characters. Bytes of
// 248 and above are rejected so that b%62 has no bias.
func randomBase62(r io.Reader, dst []byte) error {
	var raw [64]byte
	i := 0
	for i < len(dst) {
		if _, err := io.ReadFull(r, raw[:]); err != nil {
			return err
		}
		for _, b := range raw {
			if b >= 248 {
				continue
			}
			dst[i] = base62Alphabet[b%62]
			i++
			if i == len(dst) {
				break
			}
		}
	}
	return nil
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func base62Value(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return uint64(c-'A') + 10, true
	case c >= 'a' && c <= 'z':
		return uint64(c-'a') + 36, true
	}
	return 0, false
}

func encodeChecksum(dst *[ChecksumLen]byte, v uint32) {
	x := uint64(v)
	for i := ChecksumLen - 1; i >= 0; i-- {
		dst[i] = base62Alphabet[x%62]
		x /= 62
	}
}

func decodeChecksum(s string) (uint32, bool) {
	var x uint64
	for i := 0; i < len(s); i++ {
		d, ok := base62Value(s[i])
		if !ok {
			return 0, false
		}
		x = x*62 + d
	}
	if x > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(x), true
}

// crc32String is crc32.ChecksumIEEE over a string without converting it to a
// byte slice, which would allocate on the verify path.
func crc32String(s string) uint32 {
	tab := crc32.IEEETable
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = tab[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}
