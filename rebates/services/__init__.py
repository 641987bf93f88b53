"""Every write of the rebates app, split by use case: programs.py (terms and lifecycle),
accruals.py (accrual, reversal, re-rating, claim marks), journal.py (the subledger)."""
