"""Publishing: a post goes through the policy gate, waits for an approver when the policy asks, then out through the broker."""
