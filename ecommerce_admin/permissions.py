from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with `view_<model>` required to read."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def _queryset(self, view):
        # Only the model matters here: a declared queryset spares building the view's annotated one.
        declared = getattr(view, "queryset", None)
        return declared if declared is not None else super()._queryset(view)


def permission_required(*perms: str) -> type[permissions.BasePermission]:
    """A permission class for a route whose action is not the model's own CRUD (an adjustment, a refund)."""

    class HasPermissions(permissions.BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    HasPermissions.__name__ = f"Requires({', '.join(perms)})"
    return HasPermissions


# Analytics and insights: anyone who may read sales may read what is computed from them.
CanViewSales = permission_required("sales.view_sale")
