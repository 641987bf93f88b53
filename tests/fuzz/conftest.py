from tests.reliability.conftest import web_factory, world  # noqa: F401  (the same live server and data)
