from identity.main import SERVICE
from vitrina_kit.testing.shape import ServiceShapeTests


class TestIdentityShape(ServiceShapeTests):
    service = SERVICE
