from platforms.base import Platform


class Shopify(Platform):
    """Shopify Admin API (ShopifyAPI SDK): the source of truth for orders and revenue.

    Levels: account (the store), product, page. Its daily orders, revenue and new
    customers feed the `truth.*` names in rules (MER, CAC).
    """

    name = "shopify"
    title = "Shopify"
    kind = "commerce"
    source = "shopify"
    levels = ("account", "product", "page")
    credentials = ("SHOPIFY_STORE", "SHOPIFY_ACCESS_TOKEN")
