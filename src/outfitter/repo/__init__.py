"""The repository model: a Flux repository read the way Flux reads it, shared by validate
and the commands that edit a repository. See repo.model."""
