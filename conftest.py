pytest_plugins = ["postloan_common.testing"]
