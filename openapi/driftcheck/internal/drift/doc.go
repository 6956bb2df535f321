// Package drift compares this module's OpenAPI description of the Waldur API
// (openapi/waldur.yaml) with a full schema published by a Waldur server, and lists
// what ours uses that the server lacks or types differently.
//
// Every operation (matched by method and path, and checked to carry the same
// operationId), parameter (name, location, type, style, explode), success status,
// request and response field (recursively), field type and format, and enum value of
// ours is looked up in the server's schema. Comparison is directional: what we send
// (parameters, request bodies) must be accepted by the server's declaration, and what
// we decode (response bodies) must cover what the server declares, including null.
//
// Items of ours marked `x-waldur-since` newer than the server's `info.version`, and
// items marked `x-waldur-drift-ignore` with a reason, are reported as notes instead
// of errors. Error responses (4xx, 5xx) are ours alone and are not compared.
//
//	ctx := context.Background()
//	ours, err := drift.Load(ctx, "openapi/waldur.yaml", drift.LoadOptions{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	server, err := drift.Load(ctx, "https://waldur.example.org/api/schema/",
//		drift.LoadOptions{Token: os.Getenv("WALDUR_API_TOKEN")})
//	if err != nil {
//		log.Fatal(err)
//	}
//	report := drift.Compare(ours, server)
//	for _, f := range report.Findings {
//		fmt.Println(f)
//	}
//	if report.Errors() > 0 {
//		os.Exit(1)
//	}
//
// A difference inside a schema that several operations share is reported once, under
// the first operation (in path order) that uses it.
package drift
