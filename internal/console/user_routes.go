package console

// userRoutes registers the pages of a signed-in user's own account: top-up
// by code, usage charts and deleting the account.
func (c *Console) userRoutes() {
	m := c.mux
	m.HandleFunc("GET /topup", c.signedIn(c.topupPage))
	m.HandleFunc("POST /topup", c.signedIn(c.redeem))
	m.HandleFunc("GET /usage", c.signedIn(c.usagePage))
	m.HandleFunc("GET /account/delete", c.signedIn(c.deleteAccountPage))
	m.HandleFunc("POST /account/delete", c.signedIn(c.deleteAccount))
	c.playgroundRoutes()
}
