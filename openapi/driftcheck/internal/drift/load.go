package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxSchemaBytes bounds what Load reads from a server; Waldur's full schema is about 5 MB.
const maxSchemaBytes = 64 << 20

// LoadOptions configures Load. The zero value reads files and unauthenticated URLs.
type LoadOptions struct {
	// Token authenticates requests for a URL. A bare key is sent as
	// "Authorization: Token <key>"; a value that already starts with "Token " or
	// "Bearer " is sent as is. Empty sends no Authorization header.
	Token string
	// HTTPClient fetches URLs. Nil means a client with a 60 s timeout.
	HTTPClient *http.Client
}

// Load reads an OpenAPI document, YAML or JSON, from a file or from an http(s) URL
// such as a Waldur server's /api/schema/, and resolves its local references.
func Load(ctx context.Context, src string, opts LoadOptions) (*openapi3.T, error) {
	var (
		data []byte
		err  error
	)
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		data, err = fetch(ctx, src, opts)
	} else {
		data, err = os.ReadFile(src)
	}
	if err != nil {
		return nil, fmt.Errorf("drift: load %s: %w", src, err)
	}
	doc, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("drift: load %s: %w", src, err)
	}
	return doc, nil
}

// Parse decodes an OpenAPI document (YAML or JSON) and resolves its local references.
func Parse(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("drift: parse: %w", err)
	}
	if doc.Paths == nil {
		return nil, errors.New("drift: parse: document has no paths")
	}
	return doc, nil
}

func fetch(ctx context.Context, url string, opts LoadOptions) ([]byte, error) {
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.oai.openapi+json, application/json;q=0.9, application/yaml;q=0.8, */*;q=0.5")
	if auth := authorization(opts.Token); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body may echo request details; the status is enough to act on.
		return nil, fmt.Errorf("GET answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSchemaBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSchemaBytes {
		return nil, fmt.Errorf("schema larger than %d bytes", maxSchemaBytes)
	}
	return data, nil
}

func authorization(token string) string {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return ""
	case strings.HasPrefix(token, "Token "), strings.HasPrefix(token, "Bearer "):
		return token
	default:
		return "Token " + token
	}
}
