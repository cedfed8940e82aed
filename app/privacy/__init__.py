"""The person's own data: the export of everything held about them, erasure of the account, and
the record of who looked at their data."""
