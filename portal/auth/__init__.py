"""Who someone is: sign-in providers, passwords, candidate and recruiter accounts, API tokens."""
