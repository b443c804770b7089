from billing.main import SERVICE
from vitrina_kit.testing.shape import ServiceShapeTests


class TestBillingShape(ServiceShapeTests):
    service = SERVICE
