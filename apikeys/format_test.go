package apikeys_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// forge builds a well-formed key with a correct checksum from chosen parts,
// the way an attacker who knows a public id could.
func forge(prefix, id, secret string) string {
	body := prefix + "_" + id + "_" + secret
	v := uint64(crc32.ChecksumIEEE([]byte(body)))
	var sum [apikeys.ChecksumLen]byte
	for i := len(sum) - 1; i >= 0; i-- {
		sum[i] = alphabet[v%62]
		v /= 62
	}
	return body + string(sum[:])
}

func mustGenerate(t testing.TB, prefix string) string {
	t.Helper()
	k, err := apikeys.Generate(prefix)
	require.NoError(t, err)
	return k.Format()
}

func TestGenerateParseRoundTrip(t *testing.T) {
	for _, prefix := range []string{"", "wak", "sk_live", "a", "x1_y2_z3"} {
		t.Run(prefix, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				k, err := apikeys.Generate(prefix)
				require.NoError(t, err)
				s := k.Format()
				want := prefix
				if want == "" {
					want = apikeys.DefaultPrefix
				}
				assert.True(t, strings.HasPrefix(s, want+"_"))
				assert.Len(t, s, len(want)+1+apikeys.IDLen+1+apikeys.SecretLen+apikeys.ChecksumLen)
				p, err := apikeys.Parse(s)
				require.NoError(t, err)
				assert.Equal(t, k.Prefix, p.Prefix)
				assert.Equal(t, k.ID, p.ID)
				assert.Equal(t, s, p.Format())
				assert.Equal(t, want+"_"+k.ID, p.Display())
				assert.False(t, seen[k.ID], "ids repeat")
				seen[k.ID] = true
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good := forge("wak", "AbCdEf123456", "0123456789abcdefghijKL")
	_, err := apikeys.Parse(good)
	require.NoError(t, err)
	n := len(good)
	tests := []struct {
		name     string
		in       string
		checksum bool // ErrChecksum rather than a grammar error
	}{
		{"empty", "", false},
		{"too short", good[:n-1], false},
		{"too long", good + "0", false},
		{"prefix too long", forge(strings.Repeat("a", 17), "AbCdEf123456", "0123456789abcdefghijKL"), false},
		{"no prefix", good[3:], false},
		{"uppercase prefix", forge("WAK", "AbCdEf123456", "0123456789abcdefghijKL"), false},
		{"digit first", forge("1ak", "AbCdEf123456", "0123456789abcdefghijKL"), false},
		{"trailing underscore", forge("wak_", "AbCdEf123456", "0123456789abcdefghijKL"), false},
		{"double underscore", forge("w__k", "AbCdEf123456", "0123456789abcdefghijKL"), false},
		{"id separator moved", strings.Replace(good, "_Ab", "A_b", 1), false},
		{"dash in id", forge("wak", "AbCdEf-23456", "0123456789abcdefghijKL"), false},
		{"dash in secret", forge("wak", "AbCdEf123456", "0123456789abcdefghij-L"), false},
		{"dash in checksum", good[:n-1] + "-", false},
		{"checksum above 2^32", good[:n-6] + "zzzzzz", true},
		{"space", " " + good[1:], false},
		{"typo in secret", good[:20] + "Z" + good[21:], true},
		{"typo in id", good[:4] + "z" + good[5:], true},
		{"typo in checksum", good[:n-1] + string(alphabet[(strings.IndexByte(alphabet, good[n-1])+1)%62]), true},
		{"swapped neighbours", good[:10] + good[11:12] + good[10:11] + good[12:], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, good, tt.in)
			_, err := apikeys.Parse(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, apikeys.ErrMalformed)
			assert.Equal(t, tt.checksum, errors.Is(err, apikeys.ErrChecksum))
			if len(tt.in) > 8 {
				assert.NotContains(t, err.Error(), tt.in[4:], "errors must not quote the key")
			}
		})
	}
}

// Every single-character substitution anywhere in a key is caught offline:
// CRC-32 detects all bursts of up to 32 bits and the checksum encoding is
// injective.
func TestChecksumCatchesEverySingleCharacterTypo(t *testing.T) {
	key := mustGenerate(t, "")
	for i := range len(key) {
		for j := range len(alphabet) {
			c := alphabet[j]
			if c == key[i] {
				continue
			}
			_, err := apikeys.Parse(key[:i] + string(c) + key[i+1:])
			require.Errorf(t, err, "substitution at %d accepted", i)
		}
	}
}

func TestScanPattern(t *testing.T) {
	key := mustGenerate(t, "")
	live := mustGenerate(t, "sk_live")
	text := fmt.Sprintf("export A=%s\ncurl -H 'Authorization: Token %s'\nnot_a_key_%s", key, live, strings.Repeat("x", 40))
	wak := regexp.MustCompile(apikeys.ScanPattern("wak"))
	assert.Equal(t, []string{key}, wak.FindAllString(text, -1))
	anyPrefix := regexp.MustCompile(apikeys.ScanPattern(""))
	assert.Equal(t, []string{key, live}, anyPrefix.FindAllString(text, -1))
	assert.False(t, wak.MatchString(key+"0"), "a longer run is not a key")
	assert.Equal(t, `\bwak_[0-9A-Za-z]{12}_[0-9A-Za-z]{28}\b`, apikeys.ScanPattern("wak"))
}

func TestValidatePrefix(t *testing.T) {
	for _, ok := range []string{"wak", "a", "sk_live", "a1", "abcdefghijklmnop"} {
		assert.NoError(t, apikeys.ValidatePrefix(ok), ok)
	}
	for _, bad := range []string{"", "Wak", "1a", "_a", "a_", "a__b", "a-b", "abcdefghijklmnopq", "wak "} {
		err := apikeys.ValidatePrefix(bad)
		assert.ErrorIs(t, err, apikeys.ErrInvalidPrefix, bad)
		_, err = apikeys.Generate(bad)
		if bad != "" {
			assert.ErrorIs(t, err, apikeys.ErrInvalidPrefix, bad)
		}
	}
}

func TestKeyNeverPrintsItsSecret(t *testing.T) {
	k, err := apikeys.Generate("")
	require.NoError(t, err)
	plain := k.Format()
	secret := plain[len(k.Display())+1:]
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "key", k, "issued", apikeys.Issued{Key: k})
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %q", k, k, k, k, k),
		fmt.Sprintf("%v %+v %#v", apikeys.Issued{Key: k}, &apikeys.Issued{Key: k}, apikeys.Issued{Key: k}),
		buf.String(),
	} {
		assert.NotContains(t, s, secret[:apikeys.SecretLen/2])
		assert.Contains(t, s, k.ID, "the public id stays visible")
	}
	assert.Equal(t, "", apikeys.Key{}.Format())
}

func FuzzParse(f *testing.F) {
	f.Add(forge("wak", "AbCdEf123456", "0123456789abcdefghijKL"))
	f.Add(forge("sk_live", "zzzzzzzzzzzz", "0000000000000000000000"))
	f.Add(forge("wak", "AbCdEf123456", "0123456789abcdefghijKL")[:40] + "zzzzzz")
	f.Add("wak__")
	f.Add("")
	f.Add(strings.Repeat("_", 58))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := apikeys.Parse(s)
		if err != nil {
			if !errors.Is(err, apikeys.ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			if len(s) >= 12 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes its input")
			}
			return
		}
		if got := k.Format(); got != s {
			t.Fatalf("Format() = %q, want the parsed input %q", got, s)
		}
		if apikeys.ValidatePrefix(k.Prefix) != nil || len(k.ID) != apikeys.IDLen {
			t.Fatalf("accepted key with prefix %q id %q", k.Prefix, k.ID)
		}
		if !regexp.MustCompile(`^` + apikeys.ScanPattern(k.Prefix) + `$`).MatchString(s) {
			t.Fatalf("scan pattern misses an accepted key")
		}
	})
}
