"""OpenAPI description of DeviceTokenAuthentication for drf-spectacular (`/api/schema/`)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from unmask.accounts.authentication import KEYWORD


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "unmask.accounts.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=KEYWORD
        )
