"""Staff analytics (SPEC §13): the figures of `/api/v1/staff/stats/` and the `/staff/`
dashboard. Each app's selectors compute their own figures (payments: commissions, PRO, review
queues); this package reads the member tree and check-ins and puts the answer together."""
