# A VPC with private subnets only: nothing here has a route to the internet. The consumer reaches
# S3 through the (free) S3 gateway endpoint and Systems Manager through interface endpoints; the
# relay Lambda reaches the consumer's private IP. No internet gateway, no NAT gateway.
# With create_vpc = false the same pieces attach to an existing VPC's private subnets.

data "aws_availability_zones" "available" {
  count = var.create_vpc ? 1 : 0
  state = "available"
}

resource "aws_vpc" "this" {
  count                = var.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true # interface endpoints' private DNS needs both
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

resource "aws_subnet" "private" {
  count                   = var.create_vpc ? var.az_count : 0
  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = data.aws_availability_zones.available[0].names[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, count.index)
  map_public_ip_on_launch = false
  tags                    = { Name = "${var.name}-private-${count.index}", Tier = "private" }
}

# One route table for the private subnets: the VPC's local route, plus the S3 prefix list routed
# to the gateway endpoint (added by aws_vpc_endpoint_route_table_association). No 0.0.0.0/0.
resource "aws_route_table" "private" {
  count  = var.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = { Name = "${var.name}-private" }
}

resource "aws_route_table_association" "private" {
  count          = var.create_vpc ? var.az_count : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

locals {
  vpc_id                  = var.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  private_subnet_ids      = var.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  private_route_table_ids = var.create_vpc ? aws_route_table.private[*].id : var.private_route_table_ids
  endpoint_subnet_ids     = slice(local.private_subnet_ids, 0, min(var.endpoint_subnet_count, length(local.private_subnet_ids)))
  # Interface endpoints also carry the relay's Parameter Store reads in "ssm_runtime" mode.
  create_ssm_endpoints = var.create_ssm_endpoints
}

# S3 gateway endpoint: S3 traffic from the private subnets stays on AWS's network, costs nothing
# per hour or per GB, and replaces the NAT gateway the consumer would otherwise need.
resource "aws_vpc_endpoint" "s3" {
  count             = var.create_s3_gateway_endpoint ? 1 : 0
  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  tags              = { Name = "${var.name}-s3" }
}

resource "aws_vpc_endpoint_route_table_association" "s3" {
  count           = var.create_s3_gateway_endpoint ? length(local.private_route_table_ids) : 0
  vpc_endpoint_id = aws_vpc_endpoint.s3[0].id
  route_table_id  = local.private_route_table_ids[count.index]
}

# Systems Manager interface endpoints: Session Manager for the consumer (no SSH key, no bastion)
# and Parameter Store for the shared secret. These are the only hourly cost of the network.
resource "aws_security_group" "endpoints" {
  count       = local.create_ssm_endpoints ? 1 : 0
  name        = "${var.name}-endpoints"
  description = "Systems Manager interface endpoints: HTTPS from the consumer and the relay"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-endpoints" }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_consumer" {
  count                        = local.create_ssm_endpoints ? 1 : 0
  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the consumer"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.consumer.id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_relay" {
  count                        = local.create_ssm_endpoints && var.relay_secret_delivery == "ssm_runtime" ? 1 : 0
  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the relay (reads the secret at start)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.relay.id
}

resource "aws_vpc_endpoint" "ssm" {
  for_each            = local.create_ssm_endpoints ? toset(var.ssm_endpoint_services) : toset([])
  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.endpoint_subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = { Name = "${var.name}-${each.key}" }
}
