"""The security overview (issue 29): a user's home and the admins' overview."""
