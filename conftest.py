pytest_plugins = ["postloan_dev.testing"]
