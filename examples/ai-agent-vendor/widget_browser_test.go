package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// shown is what a page's <waldur-agent-widget> rendered, read from its
// shadow DOM by readWidget.
type shown struct {
	State     string `json:"state"` // ready or error
	Code      string `json:"code"`
	Text      string `json:"text"` // the rendered text
	Resources []struct {
		UUID  string `json:"uuid"`
		Name  string `json:"name"`
		State string `json:"state"`
		Usage []struct {
			Type  string  `json:"type"`
			Usage float64 `json:"usage"`
			Limit string  `json:"limit"`
			Text  string  `json:"text"`
		} `json:"usage"`
		Keys []struct {
			ClientID string `json:"id"`
			State    string `json:"state"`
		} `json:"keys"`
		Bars []struct {
			Type  string  `json:"type"`
			Width float64 `json:"width"`
			Fill  string  `json:"fill"`
		} `json:"bars"`
	} `json:"resources"`
	Border        string `json:"border"`         // the widget's computed border style
	CSPViolations string `json:"csp_violations"` // counted by the portal's page
}

// readWidget is falsy until the widget has loaded or failed, then what it shows.
const readWidget = `(() => {
  const root = document.querySelector("waldur-agent-widget")?.shadowRoot;
  const body = root?.querySelector(".widget");
  if (!body || body.dataset.state === "loading") return null;
  return {
    state: body.dataset.state, code: body.dataset.code || "", text: body.innerText,
    resources: [...root.querySelectorAll("article.resource")].map((a) => ({
      uuid: a.dataset.uuid, name: a.querySelector(".name").textContent, state: a.querySelector(".state").dataset.state,
      usage: [...a.querySelectorAll("tr[data-type]")].map((tr) => ({
        type: tr.dataset.type, usage: Number(tr.dataset.usage), limit: tr.dataset.limit, text: tr.innerText })),
      keys: [...a.querySelectorAll("li[data-client-id]")].map((li) => ({
        id: li.dataset.clientId, state: li.querySelector(".key-state").dataset.state })),
      bars: [...a.querySelectorAll("rect.bar")].map((b) => ({
        type: b.dataset.type, width: Number(b.getAttribute("width")), fill: getComputedStyle(b).fill })),
    })),
    border: getComputedStyle(body).borderTopStyle,
    csp_violations: document.documentElement.dataset.cspViolations || "0",
  };
})()`

// TestWidgetInBrowser plays the journey and, while the consumer's portal
// shows the status widget, loads its pages in headless Chromium: the widget
// renders the usage and key states the fake Waldur holds, a wrong key shows
// an error, a key of another project sees nothing of this one, and a page of
// an origin the agent does not allow cannot load it. Screenshots go to the
// test artifacts.
func TestWidgetInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	artifacts := testenv.ArtifactDir(t)
	broker := newFakeBroker()
	fake := waldurtest.NewServer(t, waldurtest.WithEventSink(broker))
	var out bytes.Buffer
	checked := false
	_, err := run(t.Context(), fake, broker, &out, slog.New(slog.DiscardHandler), func(ctx context.Context, v widgetView) error {
		browse(t, ctx, chromium, artifacts, v)
		checked = true
		return nil
	})
	require.NoError(t, err, out.String())
	require.True(t, checked)
}

func browse(t *testing.T, ctx context.Context, chromium, artifacts string, v widgetView) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // containers and CI run as root
		chromedp.WindowSize(900, 700),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(bctx), "start %s", chromium)

	// open loads a page in a new tab and waits for what its widget shows.
	// It also returns the requests the tab made for the status.
	open := func(t *testing.T, url, screenshot string) (shown, []*network.Request) {
		tab, cancel := chromedp.NewContext(bctx)
		t.Cleanup(cancel)
		var mu sync.Mutex
		var requests []*network.Request
		require.NoError(t, chromedp.Listen(tab, func(ev any) {
			if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/widget/status") {
				mu.Lock()
				requests = append(requests, e.Request)
				mu.Unlock()
			}
		}))
		tctx, cancelT := context.WithTimeout(tab, time.Minute)
		defer cancelT()
		require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(url)))
		got, err := chromedp.Run(tctx, chromedp.Poll[shown](readWidget))
		require.NoError(t, err, "the widget at %s neither loaded nor failed", url)
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		path := filepath.Join(artifacts, screenshot)
		require.NoError(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
		mu.Lock()
		defer mu.Unlock()
		return got, requests
	}

	j := v.Journey
	t.Run("shows usage and key states", func(t *testing.T) {
		got, requests := open(t, v.PortalURL+"/", "widget.png")
		require.Equal(t, "ready", got.State, got.Text)
		assert.Equal(t, "0", got.CSPViolations, "the widget needs no inline script or style")
		assert.Equal(t, "solid", got.Border, "its constructed stylesheet applies under the page's CSP")
		assert.Contains(t, got.Text, "Climate modelling")
		assert.Contains(t, got.Text, "Agent ready")

		require.Len(t, got.Resources, 1)
		r := got.Resources[0]
		assert.Equal(t, waldur.Hex(j.Resource), r.UUID)
		assert.Equal(t, "climate-assistant", r.Name)
		assert.Equal(t, "OK", r.State)

		usage := usageOf(v.Fake, j.Resource)
		require.Len(t, r.Usage, 2)
		assert.Equal(t, componentRequests, r.Usage[0].Type)
		assert.Equal(t, usage[componentRequests], r.Usage[0].Usage)
		assert.Equal(t, fmt.Sprint(requestLimit), r.Usage[0].Limit)
		assert.Contains(t, r.Usage[0].Text, fmt.Sprintf("%g", usage[componentRequests]))
		assert.Contains(t, r.Usage[0].Text, "of 1,000")
		assert.Contains(t, r.Usage[0].Text, "requests")
		assert.Equal(t, offeringKTokens, r.Usage[1].Type)
		assert.Equal(t, usage[offeringKTokens], r.Usage[1].Usage)
		assert.Contains(t, r.Usage[1].Text, fmt.Sprintf("%g", usage[offeringKTokens]))

		require.Len(t, r.Bars, 1, "a bar for the component with a limit")
		assert.Equal(t, componentRequests, r.Bars[0].Type)
		assert.InDelta(t, 120*usage[componentRequests]/requestLimit, r.Bars[0].Width, 0.1, "the bar is the usage against the limit")
		assert.Equal(t, "rgb(10, 120, 80)", r.Bars[0].Fill, "the page's --waldur-widget-accent colours the bars")

		keys := keysOf(v.Fake, j.Resource)
		require.Len(t, r.Keys, len(keys))
		for i, k := range keys {
			assert.Equal(t, k.ClientID, r.Keys[i].ClientID)
			assert.Equal(t, string(k.State), r.Keys[i].State)
			secret, _ := v.Fake.APIKeySecret(k.UUID)
			assert.NotContains(t, got.Text, secret)
		}

		var gets int
		for _, req := range requests {
			assert.NotContains(t, req.URL, "wak_", "no key in the URL")
			if req.Method == "GET" {
				gets++
				assert.Equal(t, "Bearer "+v.Key, req.Headers["Authorization"], "the key is in the Authorization header")
				assert.Empty(t, req.Headers["Referer"], "the portal's address is not sent")
			}
		}
		assert.Equal(t, 1, gets, "one request for the status, however many attributes the element has")
	})

	t.Run("a wrong key shows an error", func(t *testing.T) {
		wrong, err := apikeys.Generate(apikeys.DefaultPrefix) // well-formed, never issued
		require.NoError(t, err)
		v.Portal.page("/wrong", wrong.Format())
		got, _ := open(t, v.PortalURL+"/wrong", "widget-wrong-key.png")
		assert.Equal(t, "error", got.State)
		assert.Equal(t, apikeys.CodeInvalidKey, got.Code)
		assert.Contains(t, got.Text, "The API key was not accepted.")
		assert.Empty(t, got.Resources)
		assert.NotContains(t, got.Text, "climate")
		assert.Equal(t, "0", got.CSPViolations)
	})

	t.Run("a key of another project sees nothing of this one", func(t *testing.T) {
		other := v.Fake.AddProject(waldurtest.ProjectSpec{
			Name: "Protein folding", Customer: v.Fake.AddCustomer(waldurtest.CustomerSpec{Name: "Other University"}),
		})
		res := v.Fake.AddResource(waldurtest.ResourceSpec{Offering: j.Offering, Project: other, Name: "folding-assistant"})
		v.Fake.AddComponentUsage(waldurtest.UsageSpec{Resource: res, Type: componentRequests, Amount: "7"})
		key, err := v.IssueKey(ctx, other)
		require.NoError(t, err)
		v.Portal.page("/other", key)
		got, _ := open(t, v.PortalURL+"/other", "widget-other-project.png")
		require.Equal(t, "ready", got.State, got.Text)
		assert.Contains(t, got.Text, "Protein folding")
		require.Len(t, got.Resources, 1)
		assert.Equal(t, "folding-assistant", got.Resources[0].Name)
		assert.Equal(t, float64(7), got.Resources[0].Usage[0].Usage)
		for _, s := range []string{"climate", "Climate modelling", waldur.Hex(j.Resource), "agent-1-"} {
			assert.NotContains(t, got.Text, s)
			assert.NotEqual(t, s, got.Resources[0].UUID)
		}
	})

	t.Run("a key set as a property replaces the attribute's", func(t *testing.T) {
		// The page keeps the wrong key in the attribute; its script sets the
		// project's key as the property, which never appears in the DOM.
		tab, cancel := chromedp.NewContext(bctx)
		defer cancel()
		tctx, cancelT := context.WithTimeout(tab, time.Minute)
		defer cancelT()
		require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(v.PortalURL+"/wrong")))
		got, err := chromedp.Run(tctx, chromedp.Poll[shown](readWidget))
		require.NoError(t, err)
		require.Equal(t, "error", got.State)
		_, err = chromedp.Run(tctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`(document.querySelector("waldur-agent-widget").apiKey = %q, true)`, v.Key)))
		require.NoError(t, err)
		got, err = chromedp.Run(tctx, chromedp.Poll[shown](`(() => { const s = `+readWidget+`; return s && s.state === "ready" && s; })()`))
		require.NoError(t, err, "the widget reloaded with the property's key")
		assert.Equal(t, waldur.Hex(j.Resource), got.Resources[0].UUID)
		html, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		require.NoError(t, err)
		assert.NotContains(t, html, v.Key)
	})

	t.Run("a page of another origin cannot load it", func(t *testing.T) {
		// localhost and 127.0.0.1 are different origins; the agent allows
		// only the latter's portal, so the browser refuses the module.
		url := strings.Replace(v.PortalURL, "127.0.0.1", "localhost", 1) + "/"
		tab, cancel := chromedp.NewContext(bctx)
		defer cancel()
		tctx, cancelT := context.WithTimeout(tab, time.Minute)
		defer cancelT()
		require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(url)))
		_, err := chromedp.Run(tctx, chromedp.Poll[bool](`document.documentElement.dataset.scriptErrors === "1"`))
		require.NoError(t, err, "the module's load failed")
		defined, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`customElements.get("waldur-agent-widget") !== undefined`))
		require.NoError(t, err)
		assert.False(t, defined)
		text, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body.innerText`))
		require.NoError(t, err)
		assert.NotContains(t, text, "climate-assistant")
	})
}
