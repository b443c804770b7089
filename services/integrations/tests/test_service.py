from integrations.main import SERVICE
from vitrina_kit.testing.shape import ServiceShapeTests


class TestIntegrationsShape(ServiceShapeTests):
    service = SERVICE
