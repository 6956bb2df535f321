package waldurtest

import (
	"net/http"
	"strings"
)

// buildRoutes registers every operation. The operation IDs are those of the
// project's OpenAPI description (openapi/waldur.yaml) and, for the few extra
// operations tests find handy, of Waldur's published schema.
func (s *Server) buildRoutes() {
	routes := []route{
		{"POST", "/api-auth/password/", "api_auth_password", s.authPassword},
		{"GET", "/api/users/me/", "users_me_retrieve", s.usersMe},

		{"GET", "/api/marketplace-provider-offerings/", "marketplace_provider_offerings_list", s.listOfferings},
		{"GET", "/api/marketplace-provider-offerings/{uuid}/", "marketplace_provider_offerings_retrieve", s.getOffering},
		{"POST", "/api/marketplace-provider-offerings/{uuid}/create_offering_component/", "marketplace_provider_offerings_create_offering_component", s.createOfferingComponent},
		{"POST", "/api/marketplace-provider-offerings/{uuid}/update_offering_component/", "marketplace_provider_offerings_update_offering_component", s.updateOfferingComponent},

		{"GET", "/api/marketplace-orders/", "marketplace_orders_list", s.listOrders},
		{"HEAD", "/api/marketplace-orders/", "marketplace_orders_count", s.listOrders},
		{"GET", "/api/marketplace-orders/{uuid}/", "marketplace_orders_retrieve", s.getOrder},
		{"POST", "/api/marketplace-orders/{uuid}/approve_by_provider/", "marketplace_orders_approve_by_provider", s.orderAction(actApprove)},
		{"POST", "/api/marketplace-orders/{uuid}/reject_by_provider/", "marketplace_orders_reject_by_provider", s.orderAction(actReject)},
		{"POST", "/api/marketplace-orders/{uuid}/set_state_executing/", "marketplace_orders_set_state_executing", s.orderAction(actExecuting)},
		{"POST", "/api/marketplace-orders/{uuid}/set_state_done/", "marketplace_orders_set_state_done", s.orderAction(actDone)},
		{"POST", "/api/marketplace-orders/{uuid}/set_state_erred/", "marketplace_orders_set_state_erred", s.orderAction(actErred)},
		{"POST", "/api/marketplace-orders/{uuid}/set_backend_id/", "marketplace_orders_set_backend_id", s.orderSetBackendID},
		{"POST", "/api/marketplace-orders/{uuid}/set_provider_info/", "marketplace_orders_set_provider_info", s.orderSetProviderInfo},

		{"GET", "/api/marketplace-provider-resources/", "marketplace_provider_resources_list", s.listResources},
		{"GET", "/api/marketplace-provider-resources/{uuid}/", "marketplace_provider_resources_retrieve", s.getResource},
		{"GET", "/api/marketplace-provider-resources/{uuid}/team/", "marketplace_provider_resources_team_list", s.resourceTeam},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_backend_id/", "marketplace_provider_resources_set_backend_id", s.resourceSetBackendID},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_backend_metadata/", "marketplace_provider_resources_set_backend_metadata", s.resourceSetBackendMetadata},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_limits/", "marketplace_provider_resources_set_limits", s.resourceSetLimits},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_endpoints/", "marketplace_provider_resources_set_endpoints", s.resourceSetEndpoints},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_effective_id/", "marketplace_provider_resources_set_effective_id", s.resourceSetEffectiveID},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_as_ok/", "marketplace_provider_resources_set_as_ok", s.resourceSetOK},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_state_ok/", "marketplace_provider_resources_set_state_ok", s.resourceSetStateOK},
		{"POST", "/api/marketplace-provider-resources/{uuid}/set_as_erred/", "marketplace_provider_resources_set_as_erred", s.resourceSetErred},
		{"POST", "/api/marketplace-provider-resources/{uuid}/refresh_last_sync/", "marketplace_provider_resources_refresh_last_sync", s.resourceRefreshLastSync},
		{"POST", "/api/marketplace-provider-resources/{uuid}/submit_report/", "marketplace_provider_resources_submit_report", s.resourceSubmitReport},

		{"GET", "/api/marketplace-site-agent-identities/", "marketplace_site_agent_identities_list", s.listIdentities},
		{"POST", "/api/marketplace-site-agent-identities/", "marketplace_site_agent_identities_create", s.createIdentity},
		{"GET", "/api/marketplace-site-agent-identities/{uuid}/", "marketplace_site_agent_identities_retrieve", s.getIdentity},
		{"PUT", "/api/marketplace-site-agent-identities/{uuid}/", "marketplace_site_agent_identities_update", s.updateIdentity},
		{"DELETE", "/api/marketplace-site-agent-identities/{uuid}/", "marketplace_site_agent_identities_destroy", s.deleteIdentity},
		{"POST", "/api/marketplace-site-agent-identities/{uuid}/register_service/", "marketplace_site_agent_identities_register_service", s.registerService},
		{"POST", "/api/marketplace-site-agent-identities/{uuid}/register_queue/", "marketplace_site_agent_identities_register_queue", s.registerQueue},
		{"POST", "/api/marketplace-site-agent-identities/{uuid}/register_event_subscription/", "marketplace_site_agent_identities_register_event_subscription", s.registerEventSubscription},
		{"GET", "/api/marketplace-site-agent-services/", "marketplace_site_agent_services_list", s.listServices},
		{"POST", "/api/marketplace-site-agent-services/{uuid}/register_processor/", "marketplace_site_agent_services_register_processor", s.registerProcessor},
		{"POST", "/api/marketplace-site-agent-services/{uuid}/set_statistics/", "marketplace_site_agent_services_set_statistics", s.setStatistics},
		{"GET", "/api/marketplace-site-agent-logs/", "marketplace_site_agent_logs_list", s.listLogs},
		{"POST", "/api/marketplace-site-agent-logs/", "marketplace_site_agent_logs_create", s.createLogs},
		{"POST", "/api/event-subscriptions/{uuid}/create_queue/", "event_subscriptions_create_queue", s.createQueue},
		{"DELETE", "/api/event-subscriptions/{uuid}/", "event_subscriptions_destroy", s.deleteSubscription},

		{"POST", "/api/marketplace-slurm-periodic-usage-policies/{uuid}/report-command-result/", "marketplace_slurm_periodic_usage_policies_report_command_result", s.reportCommandResult},

		{"GET", "/api/marketplace-component-usages/", "marketplace_component_usages_list", s.listUsages},
		{"POST", "/api/marketplace-component-usages/set_usage/", "marketplace_component_usages_set_usage", s.setUsage},
		{"POST", "/api/marketplace-component-usages/{uuid}/set_user_usage/", "marketplace_component_usages_set_user_usage", s.setUserUsage},
		{"POST", "/api/marketplace-component-usages/{uuid}/set_user_usages/", "marketplace_component_usages_set_user_usages", s.setUserUsages},
		{"GET", "/api/marketplace-component-user-usages/", "marketplace_component_user_usages_list", s.listUserUsages},

		{"GET", "/api/marketplace-offering-users/", "marketplace_offering_users_list", s.listOfferingUsers},
		{"GET", "/api/marketplace-offering-users/{uuid}/", "marketplace_offering_users_retrieve", s.getOfferingUser},
		{"PATCH", "/api/marketplace-offering-users/{uuid}/", "marketplace_offering_users_partial_update", s.patchOfferingUser},
		{"POST", "/api/marketplace-offering-users/{uuid}/begin_creating/", "marketplace_offering_users_begin_creating", s.offeringUserAction("begin_creating")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_ok/", "marketplace_offering_users_set_ok", s.offeringUserAction("set_ok")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_error_creating/", "marketplace_offering_users_set_error_creating", s.offeringUserAction("set_error_creating")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_pending_account_linking/", "marketplace_offering_users_set_pending_account_linking", s.offeringUserAction("set_pending_account_linking")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_pending_additional_validation/", "marketplace_offering_users_set_pending_additional_validation", s.offeringUserAction("set_pending_additional_validation")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_validation_complete/", "marketplace_offering_users_set_validation_complete", s.offeringUserAction("set_validation_complete")},
		{"POST", "/api/marketplace-offering-users/{uuid}/request_deletion/", "marketplace_offering_users_request_deletion", s.offeringUserAction("request_deletion")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_deleting/", "marketplace_offering_users_set_deleting", s.offeringUserAction("set_deleting")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_deleted/", "marketplace_offering_users_set_deleted", s.offeringUserAction("set_deleted")},
		{"POST", "/api/marketplace-offering-users/{uuid}/set_error_deleting/", "marketplace_offering_users_set_error_deleting", s.offeringUserAction("set_error_deleting")},

		{"GET", "/api/marketplace-resource-api-keys/", "marketplace_resource_api_keys_list", s.listAPIKeys},
		{"POST", "/api/marketplace-resource-api-keys/report_created/", "marketplace_resource_api_keys_report_created", s.reportAPIKeyCreated},
		{"GET", "/api/marketplace-resource-api-keys/{uuid}/", "marketplace_resource_api_keys_retrieve", s.getAPIKey},
		{"POST", "/api/marketplace-resource-api-keys/{uuid}/set_key/", "marketplace_resource_api_keys_set_key", s.setAPIKey},
		{"POST", "/api/marketplace-resource-api-keys/{uuid}/set_erred/", "marketplace_resource_api_keys_set_erred", s.setAPIKeyErred},
		{"POST", "/api/marketplace-resource-api-keys/{uuid}/set_ok/", "marketplace_resource_api_keys_set_ok", s.setAPIKeyOK},
		{"POST", "/api/marketplace-resource-api-keys/{uuid}/set_paused/", "marketplace_resource_api_keys_set_paused", s.setAPIKeyPaused},
		{"POST", "/api/marketplace-resource-api-keys/{uuid}/set_deleted/", "marketplace_resource_api_keys_set_deleted", s.setAPIKeyDeleted},
		{"POST", "/api/marketplace-resource-api-keys/{uuid}/rotate/", "marketplace_resource_api_keys_rotate", s.rotateAPIKey},
	}
	s.mux = http.NewServeMux()
	s.routes = make(map[string]*route, len(routes))
	for i := range routes {
		rt := &routes[i]
		// {$} anchors the trailing slash: Waldur's paths end in one and a
		// shorter or longer path is a different (unknown) endpoint.
		pattern := rt.method + " " + rt.path + "{$}"
		s.routes[pattern] = rt
		s.mux.Handle(pattern, s.handle(rt.handler))
	}
}

// unrouted answers a request no route matched: 405 when the path exists for
// other methods, 404 otherwise, both with DRF's JSON bodies.
func (s *Server) unrouted(r *http.Request) reply {
	var allow []string
	if !strings.HasSuffix(r.URL.Path, "/") {
		return notFound()
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); s.routes[pattern] != nil {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return notFound()
	}
	rep := detail(http.StatusMethodNotAllowed, "Method \""+r.Method+"\" not allowed.")
	rep.header = http.Header{"Allow": {strings.Join(allow, ", ")}}
	return rep
}

// operationsSince81 returns the operations WithLegacyWaldur turns off.
func operationsSince81() []string {
	return []string{
		"marketplace_site_agent_identities_register_queue",
		"marketplace_site_agent_logs_create",
		"marketplace_site_agent_logs_list",
		"marketplace_provider_resources_set_endpoints",
		"marketplace_provider_resources_set_effective_id",
		"marketplace_resource_api_keys_list",
		"marketplace_resource_api_keys_report_created",
		"marketplace_resource_api_keys_retrieve",
		"marketplace_resource_api_keys_set_key",
		"marketplace_resource_api_keys_set_erred",
		"marketplace_resource_api_keys_rotate",
		"marketplace_resource_api_keys_set_ok",
		"marketplace_resource_api_keys_set_paused",
		"marketplace_resource_api_keys_set_deleted",
	}
}
