package agentconfig

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxMergeDepth bounds nested "<<" merges, which aliases can chain.
const maxMergeDepth = 16

// pair is a key of a mapping with its value, after merges.
type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// nodeReader walks a parsed YAML document. Values are read from the nodes
// themselves, so messages carry line numbers and never echo a value that
// may be a secret.
type nodeReader struct {
	source   string
	warnings []Warning
}

func (r *nodeReader) errorf(n *yaml.Node, key, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{Source: r.source, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (r *nodeReader) warn(line int, key, format string, args ...any) {
	r.warnings = append(r.warnings, Warning{Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxMergeDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// mapping returns the pairs of a mapping node in order, with "<<" merge keys
// expanded as YAML 1.1 defines them (explicit keys win, then earlier merged
// mappings). A repeated key is an error, as in PyYAML-validated files it
// silently means the last one.
func (r *nodeReader) mapping(n *yaml.Node, path string) ([]pair, error) {
	return r.mappingDepth(n, path, 0)
}

func (r *nodeReader) mappingDepth(n *yaml.Node, path string, depth int) ([]pair, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, r.errorf(n, path, "want a mapping of keys to values, found %s", kindName(n))
	}
	seen := make(map[string]int)
	var out, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if depth >= maxMergeDepth {
				return nil, r.errorf(k, path, "merges (<<) nested too deep")
			}
			src := deref(v)
			sources := []*yaml.Node{src}
			if src != nil && src.Kind == yaml.SequenceNode {
				sources = src.Content
			}
			for _, s := range sources {
				ps, err := r.mappingDepth(s, path, depth+1)
				if err != nil {
					return nil, err
				}
				merged = append(merged, ps...)
			}
			continue
		}
		k = deref(k)
		if k == nil || k.Kind != yaml.ScalarNode || isNull(k) {
			return nil, r.errorf(k, path, "keys must be plain names")
		}
		if first, dup := seen[k.Value]; dup {
			return nil, r.errorf(k, join(path, k.Value), "repeated key (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		out = append(out, pair{key: k.Value, line: k.Line, val: v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key]; !ok {
			seen[p.key] = p.line
			out = append(out, p)
		}
	}
	return out, nil
}

// sequence returns the items of a sequence node.
func (r *nodeReader) sequence(n *yaml.Node, path string) ([]*yaml.Node, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, r.errorf(n, path, "want a list, found %s", kindName(n))
	}
	return n.Content, nil
}

// str reads a scalar as the text written, so a UUID of digits stays as it
// is. Null reads as "".
func (r *nodeReader) str(n *yaml.Node, path string) (string, error) {
	n = deref(n)
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", r.errorf(n, path, "want a single value, found %s", kindName(n))
	}
	return n.Value, nil
}

// boolean reads true/false and the YAML 1.1 forms (yes/no, on/off) that
// the reference agent's YAML library accepts. Null keeps def.
func (r *nodeReader) boolean(n *yaml.Node, path string, def bool) (bool, error) {
	n = deref(n)
	if isNull(n) {
		return def, nil
	}
	var b bool
	if n.Kind == yaml.ScalarNode && n.Decode(&b) == nil {
		return b, nil
	}
	// A quoted value, as templating tools write them; the reference agent
	// accepts these too.
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(strings.TrimSpace(n.Value)) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
	}
	return false, r.errorf(n, path, "want true or false")
}

// integer reads a whole number; ok is false for null.
func (r *nodeReader) integer(n *yaml.Node, path string) (v int, ok bool, err error) {
	n = deref(n)
	if isNull(n) {
		return 0, false, nil
	}
	if n.Kind == yaml.ScalarNode {
		if n.Decode(&v) == nil {
			return v, true, nil
		}
		if v, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
			return v, true, nil // quoted
		}
	}
	return 0, false, r.errorf(n, path, "want a whole number")
}

// number reads a number; ok is false for null.
func (r *nodeReader) number(n *yaml.Node, path string) (v float64, ok bool, err error) {
	n = deref(n)
	if isNull(n) {
		return 0, false, nil
	}
	if n.Kind == yaml.ScalarNode {
		if n.Decode(&v) == nil {
			return v, true, nil
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true, nil // quoted
		}
	}
	return 0, false, r.errorf(n, path, "want a number")
}

// anyValue decodes a value into plain Go values (map[string]any, []any,
// string, int, float64, bool, nil).
func (r *nodeReader) anyValue(n *yaml.Node, path string) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, r.errorf(n, path, "%s", yamlMessage(err))
	}
	return v, nil
}

func kindName(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "null"
	default:
		return "a single value"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

var yamlLine = regexp.MustCompile(`(?s)^yaml: (?:unmarshal errors:\s*)?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into an *Error with its line.
func yamlError(source string, err error) *Error {
	line, msg := splitYAMLError(err)
	return &Error{Source: source, Line: line, Msg: msg}
}

func yamlMessage(err error) string {
	_, msg := splitYAMLError(err)
	return msg
}

// yamlValue matches the values yaml.v3 quotes in its messages, which may
// be the start of a secret.
var yamlValue = regexp.MustCompile("`[^`]*`")

func splitYAMLError(err error) (int, string) {
	s := yamlValue.ReplaceAllString(err.Error(), "a value")
	if m := yamlLine.FindStringSubmatch(s); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	if len(s) > 6 && s[:6] == "yaml: " {
		s = s[6:]
	}
	return 0, s
}
