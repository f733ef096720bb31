"""Token API for the extension and scripts: sign in for a device token, list, revoke."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from unmask.accounts.authentication import DeviceTokenAuthentication
from unmask.accounts.models import DeviceToken
from unmask.accounts.services import issue_token, revoke_token

BAD_CREDENTIALS = "The username or password is not correct."


class SignInThrottle(SimpleRateThrottle):
    """Password guesses per client address (rate: DEFAULT_THROTTLE_RATES["sign_in"])."""

    scope = "sign_in"

    def get_cache_key(self, request, view):
        # By address, never by request.user: that would authenticate a stale token first.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    device = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="e.g. 'Chrome on laptop'"
    )


class IssuedTokenSerializer(serializers.Serializer):
    """The key, shown this once; only its hash is stored."""

    token = serializers.CharField(source="key")
    expiry = serializers.DateTimeField(source="token.expiry", allow_null=True)
    device = serializers.CharField(source="token.device")
    id = serializers.IntegerField(source="token.pk")


class DeviceTokenSerializer(serializers.ModelSerializer):
    created = serializers.DateTimeField(source="auth_token.created", read_only=True)
    expiry = serializers.DateTimeField(source="auth_token.expiry", read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = DeviceToken
        fields = ["id", "device", "created", "expiry", "last_used", "current"]

    def get_current(self, token: DeviceToken) -> bool:
        request = self.context.get("request")
        return bool(request and request.auth is not None and request.auth.pk == token.auth_token_id)


class TokenView(APIView):
    """POST: sign in with a password for a new device token. DELETE: revoke the calling token
    (token authentication only: a browser session has no token to revoke)."""

    authentication_classes = [DeviceTokenAuthentication]

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        return [SignInThrottle()] if self.request.method == "POST" else super().get_throttles()

    def perform_authentication(self, request):
        # Signing in needs no credentials: a stale or revoked token sent along must not block it.
        if request.method != "POST":
            super().perform_authentication(request)

    @extend_schema(request=SignInSerializer, responses=IssuedTokenSerializer, auth=[])
    def post(self, request):
        form = SignInSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if user is None:
            return Response({"detail": BAD_CREDENTIALS}, status=status.HTTP_400_BAD_REQUEST)
        device = form.validated_data.get("device") or request.headers.get("User-Agent", "")
        issued = issue_token(user, device)
        return Response(IssuedTokenSerializer(issued).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        revoke_token(request.auth.device_token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's own working tokens; revoking one signs that device out."""

    serializer_class = DeviceTokenSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return DeviceToken.objects.owned_by(self.request.user).select_related("auth_token")

    def perform_destroy(self, instance: DeviceToken) -> None:
        revoke_token(instance)
