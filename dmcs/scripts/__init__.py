"""OCS scripts: BaseScript and the standard scripts (the night is one)."""
