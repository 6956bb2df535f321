package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

func healthzCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "healthz", "[-url http://127.0.0.1:8080/healthz] [-timeout 5s]")
	target := fs.String("url", "http://127.0.0.1:8080/healthz", "the agent's health endpoint (run -listen); /readyz checks readiness")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return usageError("-url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stdout, "unavailable: %v\n", err)
		return errFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stdout, "unavailable: %s %s\n", resp.Status, strings.TrimSpace(string(body)))
		return errFailed
	}
	fmt.Fprintf(e.stdout, "ok %s\n", strings.TrimSpace(string(body)))
	return nil
}
