package siteagent

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func TestWithoutRefusedDropsTheTypesWaldurNames(t *testing.T) {
	types := []waldur.ObservableObjectType{"order", "resource", "user_ssh_key", "resource_api_key_rotation"}
	refused := &waldur.APIError{StatusCode: 400, FieldErrors: map[string][]string{
		"object_types.2": {`"user_ssh_key" is not a valid choice.`},
		"object_types.3": {`"resource_api_key_rotation" is not a valid choice.`},
	}}
	err := fmt.Errorf("siteagent: register event queue: %w", refused)
	kept := withoutRefused(err, types)
	assert.Equal(t, []waldur.ObservableObjectType{"order", "resource"}, kept)
	assert.Equal(t, []waldur.ObservableObjectType{"user_ssh_key", "resource_api_key_rotation"}, refusedTypes(types, kept))

	assert.Equal(t, types, withoutRefused(&waldur.APIError{StatusCode: 403, Detail: `"order"`}, types),
		"only a 400 names refused choices")
	assert.Equal(t, types, withoutRefused(fmt.Errorf("network down"), types))
}
