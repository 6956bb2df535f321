package logship

import (
	"context"
	"log/slog"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// handler is the slog.Handler part of a Shipper.
type handler struct {
	sh     *shared
	prefix string // attributes from WithAttrs, rendered
	group  string // the open group, "a.b."
}

// Enabled reports whether level is shipped.
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.sh.cfg.Level.Level() && !h.sh.off.Load()
}

// Handle queues the record, or drops and counts it when the queue is full.
// It never blocks and always returns nil.
func (h *handler) Handle(_ context.Context, r slog.Record) error {
	if h.sh.off.Load() {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	e := waldur.LogEntry{Time: r.Time, Level: level(r.Level), Message: b.String(), Module: module(r.Message, h.sh.cfg.Module)}
	select {
	case h.sh.queue <- e:
	default:
		h.sh.dropped.Add(1)
	}
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	return &handler{sh: h.sh, prefix: b.String(), group: h.group}
}

// WithGroup returns a handler that qualifies later attributes with name.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{sh: h.sh, prefix: h.prefix, group: h.group + name + "."}
}

func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " =\"\n\t") {
		b.WriteString(quote(v))
	} else {
		b.WriteString(v)
	}
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)

func quote(s string) string { return `"` + escaper.Replace(s) + `"` }

func level(l slog.Level) waldur.LogLevel {
	switch {
	case l >= slog.LevelError:
		return waldur.LogLevelERROR
	case l >= slog.LevelWarn:
		return waldur.LogLevelWARNING
	case l >= slog.LevelInfo:
		return waldur.LogLevelINFO
	}
	return waldur.LogLevelDEBUG
}
