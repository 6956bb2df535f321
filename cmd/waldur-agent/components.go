package main

import "context"

// loadComponentsCommand is filled in with the offering-component calls of
// the Waldur client.
func loadComponentsCommand(context.Context, *env, []string) error {
	return usageError("load-components is not available in this build yet")
}
