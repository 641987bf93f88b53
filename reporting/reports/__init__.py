"""Advanced reporting: sales facts kept current from the order events, rankings over them,
operational reports, exports and the staff reports section (see docs/reporting.md)."""
