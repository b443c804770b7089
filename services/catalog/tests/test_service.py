from catalog.main import SERVICE
from vitrina_kit.testing.shape import ServiceShapeTests


class TestCatalogShape(ServiceShapeTests):
    service = SERVICE
