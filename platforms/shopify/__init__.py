from platforms.base import Platform


class Shopify(Platform):
    """Shopify GraphQL Admin API (ShopifyAPI SDK for the session and API version, httpx for GraphQL):
    the source of truth for orders, revenue and new customers.

    Account: the shop domain (`vibe-store.myshopify.com`) in rulerun.yaml, with `api_version`
    pinned per platform (default 2026-10). Credentials: SHOPIFY_ACCESS_TOKEN (an Admin API
    access token with read_orders, read_all_orders, read_products, read_discounts,
    write_discounts, read_online_store_pages and write_online_store_pages).

    Levels: account (the store: daily orders, gross and net revenue, new and returning
    customers, in the shop's timezone, test orders left out), product (orders, revenue and
    units of each product), discount (orders using each code and their revenue) and page.
    The account's rows feed the `truth.*` names in rules (MER, Net New CAC).

    Actions: `create_discount` on the account and `update_page` on a page, each always
    needing approval; rollback deactivates the code or restores the previous body.
    """

    name = "shopify"
    title = "Shopify"
    kind = "commerce"
    source = "shopify"
    levels = ("account", "product", "discount", "page")
    actions = {"account": ("create_discount",), "page": ("update_page",)}
    credentials = ("SHOPIFY_ACCESS_TOKEN",)
