package waldurapi

// The generator is pinned as a tool in go.mod.
//go:generate go tool oapi-codegen -config ../../openapi/oapi-codegen.yaml ../../openapi/waldur.yaml
