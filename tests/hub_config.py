"""The test hub: deploy/hub/jupyterhub_config.py with JupyterHub's test-only authenticator in place of PAM.

DummyAuthenticator lets anyone on the roster in with one shared password (HUB_TEST_PASSWORD): the test users have
no Unix passwords. Never on a machine others can reach.
"""
import os

c = get_config()  # noqa: F821 (provided by JupyterHub)
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "hub", "jupyterhub_config.py"))  # noqa: F821
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ["HUB_TEST_PASSWORD"]
