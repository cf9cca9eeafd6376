package sim

import "net/http"

// routes lists every endpoint the simulator serves.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Entra sign-in (login.microsoftonline.com's shape, on this host).
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", s.entra("openid", s.handleOpenID))
	mux.Handle("POST /{tenant}/oauth2/v2.0/token", s.entra("token", s.handleToken))

	// Microsoft Graph v1.0, one base URL per tenant. msgraph-sdk-go calls
	// delta as users/delta(); nextLink and deltaLink use the same form.
	const g = "/graph/{tenant}/v1.0"
	for _, p := range []string{"/users/delta", "/users/delta()", "/users/microsoft.graph.delta()", "/users/microsoft.graph.delta"} {
		mux.Handle("GET "+g+p, s.graph("delta", s.handleDelta))
	}
	mux.Handle("GET "+g+"/users", s.graph("users", s.handleListUsers))
	mux.Handle("GET "+g+"/users/{id}", s.graph("user", s.handleGetUser))
	mux.Handle("PATCH "+g+"/users/{id}", s.graph("patch", s.handlePatchUser))
	mux.Handle("DELETE "+g+"/users/{id}", s.graph("delete", s.handleDeleteUser))
	mux.Handle("GET "+g+"/users/{id}/manager", s.graph("manager", s.handleGetManager))
	mux.Handle("PUT "+g+"/users/{id}/manager/$ref", s.graph("manager", s.handleSetManager))
	mux.Handle("DELETE "+g+"/users/{id}/manager/$ref", s.graph("manager", s.handleDeleteManager))
	mux.Handle("GET "+g+"/users/{id}/directReports", s.graph("reports", s.handleListDirectReports))
	for _, p := range []string{"/groups/delta", "/groups/delta()", "/groups/microsoft.graph.delta()", "/groups/microsoft.graph.delta"} {
		mux.Handle("GET "+g+p, s.graph("groupdelta", s.handleGroupDelta))
	}
	mux.Handle("POST "+g+"/groups", s.graph("groups", s.handleCreateGroup))
	mux.Handle("GET "+g+"/groups", s.graph("groups", s.handleListGroups))
	mux.Handle("GET "+g+"/groups/{id}", s.graph("group", s.handleGetGroup))
	mux.Handle("PATCH "+g+"/groups/{id}", s.graph("group", s.handlePatchGroup))
	mux.Handle("DELETE "+g+"/groups/{id}", s.graph("group", s.handleDeleteGroup))
	mux.Handle("GET "+g+"/groups/{id}/members", s.graph("members", s.handleListMembers))
	mux.Handle("POST "+g+"/groups/{id}/members/$ref", s.graph("member", s.handleAddMemberRef))
	mux.Handle("DELETE "+g+"/groups/{id}/members/{member}/$ref", s.graph("member", s.handleRemoveMemberRef))
	mux.Handle("POST "+g+"/invitations", s.graph("invitations", s.handleInvitation))
	mux.Handle("POST "+g+"/$batch", s.batch())
	mux.Handle("POST "+g+"/subscriptions", s.graph("subscriptions", s.handleCreateSubscription))
	mux.Handle("GET "+g+"/subscriptions", s.graph("subscriptions", s.handleListSubscriptions))
	mux.Handle("GET "+g+"/subscriptions/{id}", s.graph("subscriptions", s.handleGetSubscription))
	mux.Handle("PATCH "+g+"/subscriptions/{id}", s.graph("subscriptions", s.handleUpdateSubscription))
	mux.Handle("DELETE "+g+"/subscriptions/{id}", s.graph("subscriptions", s.handleDeleteSubscription))
	for _, p := range []string{"/reauthorize", "/microsoft.graph.reauthorize"} {
		mux.Handle("POST "+g+"/subscriptions/{id}"+p, s.graph("subscriptions", s.handleReauthorizeSubscription))
	}
	mux.Handle(g+"/", s.graph("other", s.handleUnknownGraph))
	mux.Handle("GET /redeem", s.recorded("redeem", func(w http.ResponseWriter, r *http.Request, _ *requestNote) {
		s.handleRedeem(w, r)
	}))

	// Control API.
	mux.HandleFunc("GET /control/tenants", s.ctlListTenants)
	mux.HandleFunc("POST /control/tenants", s.ctlCreateTenant)
	mux.HandleFunc("GET /control/tenants/{tenant}/users", s.ctlListUsers)
	mux.HandleFunc("POST /control/tenants/{tenant}/users", s.ctlUpsertUser)
	mux.HandleFunc("GET /control/tenants/{tenant}/users/{id}", s.ctlGetUser)
	mux.HandleFunc("PATCH /control/tenants/{tenant}/users/{id}", s.ctlPatchUser)
	mux.HandleFunc("DELETE /control/tenants/{tenant}/users/{id}", s.ctlDeleteUser)
	mux.HandleFunc("GET /control/tenants/{tenant}/users/{id}/manager", s.ctlGetManager)
	mux.HandleFunc("PUT /control/tenants/{tenant}/users/{id}/manager", s.ctlSetManager)
	mux.HandleFunc("DELETE /control/tenants/{tenant}/users/{id}/manager", s.ctlDeleteManager)
	mux.HandleFunc("GET /control/tenants/{tenant}/groups", s.ctlListGroups)
	mux.HandleFunc("POST /control/tenants/{tenant}/groups", s.ctlCreateGroup)
	mux.HandleFunc("GET /control/tenants/{tenant}/groups/{id}", s.ctlGetGroup)
	mux.HandleFunc("PATCH /control/tenants/{tenant}/groups/{id}", s.ctlPatchGroup)
	mux.HandleFunc("DELETE /control/tenants/{tenant}/groups/{id}", s.ctlDeleteGroup)
	mux.HandleFunc("POST /control/tenants/{tenant}/groups/{id}/members", s.ctlAddGroupMember)
	mux.HandleFunc("DELETE /control/tenants/{tenant}/groups/{id}/members/{member}", s.ctlRemoveGroupMember)
	mux.HandleFunc("POST /control/tenants/{tenant}/seed", s.ctlSeed)
	mux.HandleFunc("POST /control/tenants/{tenant}/apps", s.ctlAddApp)
	mux.HandleFunc("POST /control/tenants/{tenant}/invalidate-delta-tokens", s.ctlInvalidate)
	mux.HandleFunc("GET /control/tenants/{tenant}/faults", s.ctlGetFaults)
	mux.HandleFunc("PUT /control/tenants/{tenant}/faults", s.ctlSetFaults)
	mux.HandleFunc("GET /control/requests", s.ctlRequests)
	mux.HandleFunc("DELETE /control/requests", s.ctlResetRequests)
	mux.HandleFunc("GET /control/stats", s.ctlStats)
	mux.HandleFunc("GET /control/subscriptions", s.ctlListSubscriptions)
	mux.HandleFunc("DELETE /control/subscriptions/{id}", s.ctlRemoveSubscription)
	mux.HandleFunc("POST /control/subscriptions/{id}/lifecycle", s.ctlLifecycle)
	mux.HandleFunc("GET /control/directory", s.ctlGetDirectorySettings)
	mux.HandleFunc("PUT /control/directory", s.ctlSetDirectorySettings)
	mux.HandleFunc("GET /control/notifications", s.ctlGetNotificationSettings)
	mux.HandleFunc("PUT /control/notifications", s.ctlSetNotificationSettings)
	return mux
}
