from orders.main import SERVICE
from vitrina_kit.testing.shape import ServiceShapeTests


class TestOrdersShape(ServiceShapeTests):
    service = SERVICE
