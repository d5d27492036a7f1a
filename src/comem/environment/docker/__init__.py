"""Parts of the Docker environment that run inside the container (see `comem.environment.docker_env`)."""
