"""Crisis runbooks: who to call, what to do and what to say when a crisis breaks, and the incidents they open."""
